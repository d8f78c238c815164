{{ config(engine='MergeTree()', order_by='(snapshot_month, segment, macro_segment)') }}
-- Monthly RFM snapshots: for each month M, as-of date D = first day of the next month and only
-- orders before D. Macro-segment follows the code, so a segment may appear under two macros.
with months as (
    select arrayJoin(arrayMap(i -> addMonths(first_month, i),
                              range(toUInt32(dateDiff('month', first_month, last_month) + 1)))) as snapshot_month
    from (
        select toStartOfMonth(min(buy_ts)) as first_month, toStartOfMonth(max(buy_ts)) as last_month
        from {{ ref('fct_orders') }}
    )
),
measures as (
    select
        m.snapshot_month as snapshot_month,
        o.uid as uid,
        toUInt32(dateDiff('day', toDate(max(o.buy_ts)), addMonths(m.snapshot_month, 1))) as recency_days,
        toUInt64(count()) as frequency,
        sum(o.revenue) as monetary
    from {{ ref('fct_orders') }} as o
    cross join months as m
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
    sum(s.monetary) as revenue
from scored as s
left join {{ ref('rfm_segments') }} as seg on seg.rfm_code = s.rfm_code
group by snapshot_month, segment, macro_segment
