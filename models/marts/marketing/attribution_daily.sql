{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='day',
          engine='MergeTree()', order_by='(day, model, source_id)',
          pre_hook="{{ delete_days_left_empty(changed_attribution_days(ref('fct_orders'), ref('stg_visits'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch')),
                                              [(ref('fct_orders'), 'toDate(buy_ts)')]) }}") }}
{% set days = days_set(changed_attribution_days(ref('fct_orders'), ref('stg_visits'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch'))) %}
{% set half_life = var('attribution_half_life_days', 7) | float %}
-- Orders, revenue and net revenue credited to sources per day of buy_ts, for each attribution model
-- (docs/CONTRACT.md section 6). An order's touchpoints are its buyer's sessions with
-- buy_ts - lookback <= start_ts <= buy_ts, ordered by (start_ts, source_id); an order without one
-- gets one touchpoint of source 0 (unknown). Credits are Float64 and sum to 1 per order; credited
-- money is Decimal (revenue x credit, the credit taken to 12 decimals, rounded to 6 decimals per row).
-- Incremental by day: a refresh recomputes the days of changed orders and of orders a new or late
-- visit is a touchpoint of (macros/attribution.sql); load_id = the newest load / refresh id among a
-- row's orders and touchpoints, so max(load_id) is the mart's watermark.
with orders as (
    select order_id, uid, buy_ts, revenue, net_revenue, refreshed_in
    from {{ ref('fct_orders') }}
    {% if is_incremental() %}where toDate(buy_ts) in {{ days }}{% endif %}
),
sessions as (  -- the buyers' sessions in the orders' window (fct_sessions is sorted and partitioned by start_ts)
    select uid, start_ts, source_id, load_id
    from {{ ref('fct_sessions') }}
    where uid in (select uid from orders)
      and start_ts >= (select min(buy_ts) from orders) - toIntervalDay({{ attribution_lookback_days() }})
      and start_ts <= (select max(buy_ts) from orders)
),
touchpoints as (  -- one row per order: its touchpoints, ordered
    select
        o.order_id as order_id,
        any(o.buy_ts) as buy_ts,
        any(o.revenue) as revenue,
        any(o.net_revenue) as net_revenue,
        arraySort(groupArrayIf((s.start_ts, s.source_id),
                               s.uid = o.uid and {{ is_touchpoint('s.start_ts', 'o.buy_ts') }})) as found,
        if(empty(found), [(buy_ts, toUInt32(0))], found) as touches,
        greatest(any(o.refreshed_in),
                 ifNull(maxIf(s.load_id, s.uid = o.uid and {{ is_touchpoint('s.start_ts', 'o.buy_ts') }}), 0))
            as load_id
    from orders as o
    left join sessions as s on s.uid = o.uid
    group by o.order_id
),
credits as (  -- one row per order and model: the credit of each touchpoint
    select
        toDate(buy_ts) as day,
        revenue,
        net_revenue,
        load_id,
        arrayMap(t -> t.2, touches) as sources,
        length(touches) as n,
        arrayEnumerate(touches) as positions,
        arrayMap(t -> exp2(-(dateDiff('second', t.1, buy_ts) / 86400) / {{ half_life }}), touches) as decay,
        arrayJoin([
            ('first', arrayMap(i -> toFloat64(i = 1), positions)),
            ('last', arrayMap(i -> toFloat64(i = n), positions)),
            ('linear', arrayMap(i -> 1 / n, positions)),
            ('time_decay', arrayMap(w -> w / arraySum(decay), decay)),
            ('position_based', arrayMap(i -> multiIf(n = 1, 1., n = 2, 0.5, i = 1 or i = n, 0.4, 0.2 / (n - 2)),
                                        positions))
        ]) as model_credits
    from touchpoints
),
credited as (
    select
        day,
        model_credits.1 as model,
        touch.1 as source_id,
        touch.2 as credit,
        revenue,
        net_revenue,
        load_id
    from credits
    array join arrayZip(sources, model_credits.2) as touch
    where touch.2 > 0  -- first / last: the other touchpoints get nothing, and no row
),
daily as (
    select
        day,
        model,
        source_id,
        sum(credit) as orders,
        sum(revenue * toDecimal128(credit, 12)) as revenue,
        sum(net_revenue * toDecimal128(credit, 12)) as net_revenue,
        max(load_id) as load_id
    from credited
    group by day, model, source_id
)
select
    d.day as day,
    toLowCardinality(d.model) as model,
    d.source_id as source_id,
    {{ channel_of('d.source_id', 'c') }},
    d.orders as orders,
    toDecimal128(round(d.revenue, 6), 6) as revenue,
    toDecimal128(round(d.net_revenue, 6), 6) as net_revenue,
    d.load_id as load_id
from daily as d
left join {{ ref('channels') }} as c on c.source_id = d.source_id
