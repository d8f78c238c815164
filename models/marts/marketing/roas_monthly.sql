{{ config(engine='MergeTree()', order_by='(month, model, source_id)', query_settings={'enable_materialized_cte': 1}) }}
-- ROAS per month, source and attribution model (docs/CONTRACT.md section 6): revenue and net revenue
-- credited by the model (attribution_daily) / the source's costs that month; NULL when the costs are 0.
-- Every (month, source) with costs or credited orders gets a row for each model. A small table
-- rebuilt from the daily mart on every build.
-- `attributed` and `spend` are read twice each: MATERIALIZED computes them once.
with attributed as materialized (
    select toStartOfMonth(day) as month, model, source_id,
           sum(orders) as orders, sum(revenue) as revenue, sum(net_revenue) as net_revenue
    from {{ ref('attribution_daily') }}
    group by month, model, source_id
),
spend as materialized (
    select toStartOfMonth(dt) as month, source_id, sum(costs) as costs
    from {{ ref('stg_costs') }}
    group by month, source_id
),
keys as (
    select month, model, source_id from attributed
    union distinct
    select s.month, m.model, s.source_id
    from spend as s
    cross join (select arrayJoin({{ attribution_models() }}) as model) as m
)
select
    k.month as month,
    toLowCardinality(k.model) as model,
    k.source_id as source_id,
    {{ channel_of('k.source_id', 'c') }},
    toDecimal128(ifNull(s.costs, 0), 2) as costs,
    ifNull(a.orders, 0) as orders,
    toDecimal128(ifNull(a.revenue, 0), 6) as revenue,
    toDecimal128(ifNull(a.net_revenue, 0), 6) as net_revenue,
    if(costs > 0, toFloat64(revenue) / toFloat64(costs), null) as roas,
    if(costs > 0, toFloat64(net_revenue) / toFloat64(costs), null) as net_roas
from keys as k
left join spend as s on s.month = k.month and s.source_id = k.source_id
left join attributed as a on a.month = k.month and a.model = k.model and a.source_id = k.source_id
left join {{ ref('channels') }} as c on c.source_id = k.source_id
