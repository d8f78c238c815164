-- depends_on: {{ ref('stg_visits') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='uid',
    engine='MergeTree()',
    order_by='(buy_ts, uid)',
    partition_by='toYYYYMM(buy_ts)'
) }}
-- One row per order, attributed to the buyer's first-touch channel, device and OS.
-- Incremental: recomputes the buyers with new orders or new visits (first touch / first order may
-- change), so the result equals a full rebuild.
select
    o.order_id as order_id,
    o.uid as uid,
    o.buy_ts as buy_ts,
    o.revenue as revenue,
    toUInt8(o.order_id = b.first_order_id) as is_first_order,
    b.first_order_ts as first_order_ts,
    toStartOfMonth(b.first_order_ts) as order_cohort_month,
    b.first_source_id as first_source_id,
    {{ channel_of('b.first_source_id', 'c') }},
    b.first_device as first_device,
    b.first_os as first_os,
    toLowCardinality(if(o.country = '', b.first_country, o.country)) as country,
    toLowCardinality(if(o.region = '', b.first_region, o.region)) as region,
    toLowCardinality(if(o.city = '', b.first_city, o.city)) as city,
    o.load_id as load_id,
    ft.visits_load_id as visits_load_id
from {{ ref('stg_orders') }} as o
inner join {{ ref('int_buyers') }} as b on b.uid = o.uid
left join {{ ref('int_first_touch') }} as ft on ft.uid = o.uid
left join {{ ref('channels') }} as c on c.source_id = b.first_source_id
{% if is_incremental() %}
where o.uid in (
    select uid from {{ ref('stg_orders') }} where load_id > (select max(load_id) from {{ this }})
    union distinct
    select uid from {{ ref('stg_visits') }} where load_id > (select max(visits_load_id) from {{ this }})
)
{% endif %}
