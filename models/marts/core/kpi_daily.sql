{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='day',
          engine='MergeTree()', order_by='(day, source_id, device, os)',
          pre_hook="{{ delete_days_left_empty(changed_days(ref('fct_sessions'), ref('fct_orders'), ref('stg_order_items'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch')),
                                              [(ref('fct_sessions'), 'toDate(start_ts)'), (ref('fct_orders'), 'toDate(buy_ts)'),
                                               ('(select buy_ts from ' ~ ref('int_order_amounts') ~ ' where is_cancelled = 1)', 'toDate(buy_ts)')]) }}") }}
{% set days = days_set(changed_days(ref('fct_sessions'), ref('fct_orders'), ref('stg_order_items'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch'))) %}
-- Daily KPIs per source x device x OS. Sessions and users by the session's source; orders, buyers
-- and money (base currency; refunds on the order's day) by the buyer's first touch (the contract's
-- attribution). Distinct counts carry
-- uniqExact states so any roll-up (several days, channels, OSes) stays exact:
-- uniqExactMerge(users_state), never sum(users).
-- Incremental by day: a refresh recomputes only the days new loads touch (macros/incremental_days.sql).
with sessions as (
    select
        toDate(start_ts) as day, source_id, device, os,
        toUInt64(count()) as sessions,
        toUInt64(sum(duration_s)) as session_seconds,
        uniqExactState(uid) as users_state,
        max(load_id) as load_id
    from {{ ref('fct_sessions') }}
    {% if is_incremental() %}where toDate(start_ts) in {{ days }}{% endif %}
    group by day, source_id, device, os
),
items as (
    select order_id, toUInt64(sum(quantity)) as units, max(load_id) as load_id
    from {{ ref('stg_order_items') }}
    {% if is_incremental() %}
    where order_id in (select order_id from {{ ref('fct_orders') }} where toDate(buy_ts) in {{ days }})
    {% endif %}
    group by order_id
),
-- Cancelled orders count only in cancelled_orders, by their buyer's first touch (from the visits:
-- a buyer with only cancelled orders is no buyer) on the order's day.
cancelled as (
    select
        a.order_id as order_id, a.uid as uid, a.buy_ts as buy_ts,
        ft.first_source_id as first_source_id,
        toLowCardinality(if(ft.uid = a.uid, ft.first_device, 'unknown')) as first_device,
        toLowCardinality(if(ft.uid = a.uid, ft.first_os, 'unknown')) as first_os,
        a.load_id as load_id
    from {{ ref('int_order_amounts') }} as a
    left join (
        select * from {{ ref('int_first_touch') }}
        {% if is_incremental() -%}
        -- just these orders' buyers: the join's hash table of all 4.8M users' first touch was half of a
        -- 10M refresh's kpi_daily (0.8 of 1.5 s; 0.15-0.45 s so)
        where uid in (select uid from {{ ref('int_order_amounts') }} where is_cancelled = 1 and toDate(buy_ts) in {{ days }})
        {%- endif %}
    ) as ft on ft.uid = a.uid
    where a.is_cancelled = 1
    {% if is_incremental() %}and toDate(a.buy_ts) in {{ days }}{% endif %}
),
orders as (
    select
        toDate(o.buy_ts) as day,
        o.first_source_id as source_id,
        o.first_device as device,
        o.first_os as os,
        toUInt64(countIf(o.is_sale)) as orders,
        uniqExactStateIf(o.uid, o.is_sale) as buyers_state,
        uniqExactStateIf(o.uid, o.is_sale and o.is_first_order = 1) as new_buyers_state,
        sumIf(o.revenue, o.is_sale) as revenue,
        sumIf(o.net_revenue, o.is_sale) as net_revenue,
        sumIf(o.refunded, o.is_sale) as refunded,
        sumIf(o.discount, o.is_sale) as discounts,
        sumIf(o.gross_profit, o.is_sale) as gross_profit,
        toUInt64(countIf(not o.is_sale)) as cancelled_orders,
        -- Orders without item lines count as one unit.
        toUInt64(sumIf(if(i.order_id = o.order_id, i.units, 1), o.is_sale)) as units,
        max(greatest(o.refreshed_in, i.load_id)) as load_id
    from (
        select
            order_id, uid, buy_ts, first_source_id, first_device, first_os, is_first_order, revenue,
            net_revenue, refunded, discount, gross_profit, refreshed_in, true as is_sale
        from {{ ref('fct_orders') }}
        {% if is_incremental() %}where toDate(buy_ts) in {{ days }}{% endif %}
        union all
        select
            order_id, uid, buy_ts, first_source_id, first_device, first_os, 0, 0, 0, 0, 0, 0, load_id, false
        from cancelled
    ) as o
    left join items as i on i.order_id = o.order_id
    group by day, source_id, device, os
)
select
    if(s.day != toDate(0), s.day, o.day) as day,
    if(s.day != toDate(0), s.source_id, o.source_id) as source_id,
    {{ channel_of('if(s.day != toDate(0), s.source_id, o.source_id)', 'c') }},
    toLowCardinality(if(s.day != toDate(0), s.device, o.device)) as device,
    toLowCardinality(if(s.day != toDate(0), s.os, o.os)) as os,
    s.sessions as sessions,
    s.session_seconds as session_seconds,
    finalizeAggregation(s.users_state) as users,
    s.users_state as users_state,
    o.orders as orders,
    finalizeAggregation(o.buyers_state) as buyers,
    o.buyers_state as buyers_state,
    finalizeAggregation(o.new_buyers_state) as new_buyers,
    o.new_buyers_state as new_buyers_state,
    o.revenue as revenue,
    o.net_revenue as net_revenue,
    o.refunded as refunded,
    o.discounts as discounts,
    o.gross_profit as gross_profit,
    o.cancelled_orders as cancelled_orders,
    o.units as units,
    greatest(s.load_id, o.load_id) as load_id
from sessions as s
full outer join orders as o
    on s.day = o.day and s.source_id = o.source_id and s.device = o.device and s.os = o.os
left join {{ ref('channels') }} as c on c.source_id = if(s.day != toDate(0), s.source_id, o.source_id)
