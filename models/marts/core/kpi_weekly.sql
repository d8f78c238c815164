-- depends_on: {{ ref('fct_sessions') }}, {{ ref('fct_orders') }}, {{ ref('stg_order_items') }}, {{ ref('int_order_amounts') }}, {{ ref('int_first_touch') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='week',
          engine='MergeTree()', order_by='(week, channel, os)') }}
-- Weekly KPIs with FINALIZED distinct counts for every single-value filter combination:
-- (week, channel, os), (week, channel, '(all)'), (week, '(all)', os) and (week, '(all)', '(all)').
-- Dashboards read one row per week instead of merging uniqExact states at query time (the states
-- hold about as many entries as raw visits, so merging them costs about a raw scan). Several
-- channels / OSes at once are not additive here: Superset's kpi_weekly dataset falls back to
-- kpi_daily's states for such selections (ecomlytics/bi/bundle_builder.py, KPI_WEEKLY_SQL).
-- Incremental by week: weeks of the days kpi_daily recomputed (macros/incremental_days.sql).
with expanded as (
    select
        day, channel_key, os_key, sessions, session_seconds, users_state, orders, buyers_state,
        new_buyers_state, revenue, units, load_id
    from {{ ref('kpi_daily') }}
    {{ array_join_channel_os_rollups() }}
    {% if is_incremental() %}
    where toMonday(day) in (select toMonday(day) from {{ ref('kpi_daily') }} where day in {{ changed_days(ref('fct_sessions'), ref('fct_orders'), ref('stg_order_items'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch')) }})
    {% endif %}
)
select
    toMonday(day) as week,
    toLowCardinality(channel_key) as channel,
    toLowCardinality(os_key) as os,
    max(day) as last_day,
    toUInt64(sum(sessions)) as sessions,
    toUInt64(sum(session_seconds)) as session_seconds,
    toUInt64(uniqExactMerge(users_state)) as users,
    toUInt64(sum(orders)) as orders,
    toUInt64(uniqExactMerge(buyers_state)) as buyers,
    toUInt64(uniqExactMerge(new_buyers_state)) as new_buyers,
    sum(revenue) as revenue,
    toUInt64(sum(units)) as units,
    max(load_id) as load_id
from expanded
group by week, channel_key, os_key
