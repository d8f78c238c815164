-- depends_on: {{ ref('int_order_amounts') }}, {{ ref('int_first_touch') }}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='snapshot_month',
          engine='MergeTree()', order_by='(snapshot_month, segment, macro_segment)',
          query_settings={'enable_materialized_cte': 1}) }}
-- Monthly RFM snapshots: for each month M, as-of date D = first day of the next month and only
-- orders before D. Macro-segment follows the code, so a segment may appear under two macros.
-- Incremental by snapshot month: snapshot M reads only orders before D, so a refresh recomputes
-- the months from the earliest month of a changed order day on (macros/incremental_days.sql;
-- item lines do not matter here); load_id = the newest refreshed_in among a snapshot's orders.
with months as (
    select
        arrayJoin(arrayMap(i -> addMonths(first_month, i),
                           range(toUInt32(dateDiff('month', first_month, last_month) + 1)))) as snapshot_month,
        snapshot_month = last_month as is_latest
    from (
        select toStartOfMonth(min(buy_ts)) as first_month, toStartOfMonth(max(buy_ts)) as last_month
        from {{ ref('fct_orders') }}
    )
    {% if is_incremental() %}
    -- NULL (no month) when no order changed
    where snapshot_month >= {{ first_month_with_changed_orders(ref('fct_orders'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch')) }}
    {% endif %}
),
-- `measures` is read twice (the scores and their quantile thresholds): MATERIALIZED aggregates the
-- orders once.
measures as materialized (
    select
        m.snapshot_month as snapshot_month,
        o.uid as uid,
        toUInt32(dateDiff('day', toDate(max(o.buy_ts)), addMonths(m.snapshot_month, 1))) as recency_days,
        toUInt64(count()) as frequency,
        sum(o.{{ rfm_money() }}) as monetary,
        max(o.refreshed_in) as load_id
    from {{ ref('fct_orders') }} as o
    -- with the default as-of date the latest month comes from rfm_scores (below)
    cross join (select snapshot_month from months {% if not var('rfm_as_of_date') %}where not is_latest{% endif %}) as m
    where toDate(o.buy_ts) < addMonths(m.snapshot_month, 1)
    group by snapshot_month, uid
),
scored as (
    {{ rfm_scored('measures', 'snapshot_month') }}
)
select
    s.snapshot_month as snapshot_month,
    seg.segment as segment,
    seg.macro_segment as macro_segment,
    toUInt64(count()) as customers,
    sum(s.monetary) as revenue,
    max(s.load_id) as load_id
from scored as s
left join {{ ref('rfm_segments') }} as seg on seg.rfm_code = s.rfm_code
group by snapshot_month, segment, macro_segment
{% if not var('rfm_as_of_date') %}
union all
-- The latest month's snapshot (the month a daily refresh recomputes) is today's RFM: with the default
-- as-of date (the day after the last order) both count every order, and every customer's recency
-- is longer by the same number of days, so the exact quantile thresholds move by it too and every
-- score, code and segment is the same as in rfm_scores.
select
    m.snapshot_month as snapshot_month,
    r.segment as segment,
    r.macro_segment as macro_segment,
    toUInt64(count()) as customers,
    sum(r.monetary) as revenue,
    any(m.load_id) as load_id
from {{ ref('rfm_scores') }} as r
cross join (
    select snapshot_month, (select max(refreshed_in) from {{ ref('fct_orders') }}) as load_id
    from months where is_latest
) as m
group by snapshot_month, segment, macro_segment
{% endif %}
