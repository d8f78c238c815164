{{ config(order_by='uid', engine='MergeTree()') }}
-- One row per buyer: first and last order, orders and revenue, and first-touch attributes
-- (buyers without a visit get source 0 and device/os "unknown").
select
    o.uid as uid,
    min(o.buy_ts) as first_order_ts,
    argMin(o.order_id, (o.buy_ts, o.order_id)) as first_order_id,
    max(o.buy_ts) as last_order_ts,
    toUInt64(count()) as orders,
    sum(o.revenue) as revenue,
    max(ft.uid = o.uid) as has_visit,
    if(has_visit, any(ft.first_visit_ts), null) as first_visit_ts,
    any(ft.first_source_id) as first_source_id,
    toLowCardinality(if(has_visit, any(ft.first_device), 'unknown')) as first_device,
    toLowCardinality(if(has_visit, any(ft.first_os), 'unknown')) as first_os,
    toLowCardinality(if(has_visit, any(ft.first_country), 'unknown')) as first_country,
    toLowCardinality(if(has_visit, any(ft.first_region), 'unknown')) as first_region,
    toLowCardinality(if(has_visit, any(ft.first_city), 'unknown')) as first_city
from {{ ref('stg_orders') }} as o
left join {{ ref('int_first_touch') }} as ft on ft.uid = o.uid
group by o.uid
