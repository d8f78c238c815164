{{ config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by='(cohort_month, first_source_id, first_device, lifetime_month)',
    pre_hook="{{ delete_where_any(cohort_cells_with_new_sessions(ref('fct_sessions'), 'cohort_month', 'addMonths(cohort_month, lifetime_month)')) }}"
) }}
-- Visit cohorts: cohort_month = month of the first visit; lifetime_month = months from the cohort
-- month to the session's month. One row for every lifetime up to the last month with sessions, so
-- the table is additive across first_source_id and first_device (each user has one first touch):
-- retention = sum(active_users) / sum(cohort_users).
-- Incremental (macros/incremental_days.sql): a refresh deletes and recomputes the cells new
-- sessions can change: cohorts from the earliest cohort of a new first session on, and every
-- cohort's cell for the months new sessions fall on. load_id = newest load among a cell's sessions.
{% set watermark = incremental_watermark('load_id') %}
with last_month as (
    select toStartOfMonth(max(start_ts)) as m from {{ ref('fct_sessions') }}
),
sizes as (
    select
        toStartOfMonth(first_visit_ts) as cohort_month, first_source_id, first_device,
        toUInt64(count()) as cohort_users
    from {{ ref('int_first_touch') }}
    group by cohort_month, first_source_id, first_device
),
grid as (
    {{ cohort_age_grid('sizes', 'lifetime_month', '(select m from last_month)') }}
),
active as (
    select
        visit_cohort_month as cohort_month, first_source_id, first_device,
        toUInt32(dateDiff('month', visit_cohort_month, toStartOfMonth(start_ts))) as lifetime_month,
        toUInt64(uniqExact(uid)) as active_users,
        max(load_id) as load_id
    from {{ ref('fct_sessions') }}
    {% if is_incremental() %}
    where {{ cohort_cells_with_new_sessions(ref('fct_sessions'), 'visit_cohort_month', 'toStartOfMonth(start_ts)', watermark) }}
    {% endif %}
    group by cohort_month, first_source_id, first_device, lifetime_month
)
select
    g.cohort_month as cohort_month,
    g.first_source_id as first_source_id,
    {{ channel_of('g.first_source_id', 'c') }},
    g.first_device as first_device,
    g.lifetime_month as lifetime_month,
    g.cohort_users as cohort_users,
    a.active_users as active_users,
    a.active_users / g.cohort_users as retention,
    a.load_id as load_id
from grid as g
left join active as a
    on a.cohort_month = g.cohort_month and a.first_source_id = g.first_source_id
    and a.first_device = g.first_device and a.lifetime_month = g.lifetime_month
left join {{ ref('channels') }} as c on c.source_id = g.first_source_id
{% if is_incremental() %}
where {{ cohort_cells_with_new_sessions(ref('fct_sessions'), 'g.cohort_month', 'addMonths(g.cohort_month, g.lifetime_month)', watermark) }}
{% endif %}
