{{ config(engine='MergeTree()', order_by='(month, source_id)') }}
-- Spend and acquisition per month and source: CAC = costs / new buyers whose first touch is that
-- source (NULL when the source brought no new buyer that month).
with spend as (
    select toStartOfMonth(dt) as month, source_id, sum(costs) as costs
    from {{ ref('stg_costs') }}
    group by month, source_id
),
acquired as (
    select toStartOfMonth(first_order_ts) as month, first_source_id as source_id, toUInt64(count()) as new_buyers
    from {{ ref('int_buyers') }}
    group by month, source_id
),
keys as (
    select month, source_id from spend union distinct select month, source_id from acquired
)
select
    k.month as month,
    k.source_id as source_id,
    {{ channel_of('k.source_id', 'c') }},
    toDecimal64(s.costs, 2) as costs,
    a.new_buyers as new_buyers,
    if(a.new_buyers > 0, toFloat64(s.costs) / a.new_buyers, null) as cac
from keys as k
left join spend as s on s.month = k.month and s.source_id = k.source_id
left join acquired as a on a.month = k.month and a.source_id = k.source_id
left join {{ ref('channels') }} as c on c.source_id = k.source_id
