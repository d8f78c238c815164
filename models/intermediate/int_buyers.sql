{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='uid',
    order_by='uid',
    engine='MergeTree()',
    query_settings={'enable_materialized_cte': 1},
    pre_hook="{{ delete_when_reloaded('uid not in (select uid from ' ~ ref('int_orders') ~ ')', ref('int_orders'), 'orders',
                                      input=(ref('stg_orders'), 'order_id')) }}"
) }}
-- One row per buyer (sales only, int_orders): first and last order, orders, revenue and net revenue
-- (base currency), and first-touch attributes
-- (buyers without a visit get source 0 and device/os "unknown").
-- Incremental (macros/incremental_customers.sql): a row depends only on the buyer's own orders and
-- first touch, so a refresh recomputes just the buyers whose orders or first touch may have changed;
-- the pre-hook deletes buyers whose orders all moved to other uids. The result equals a full rebuild.
{% set watermark = incremental_watermark('refreshed_in') %}
-- Buyers whose row may differ from the stored one: buyers with orders whose money came in new loads
-- (int_order_amounts: also orders that stopped being sales), users whose
-- first touch int_first_touch rewrote and, after reloads, stored buyers whose order count no longer
-- matches (without a new-load order a buyer can only lose orders, so the count tells).
{% set changed -%}
    (select uid from {{ ref('int_order_amounts') }} where load_id > {{ watermark }}
     union distinct
     select uid from {{ ref('int_first_touch') }} where visits_load_id > {{ watermark }}
     {%- if reloaded_since(ref('int_orders'), 'orders', watermark, (ref('stg_orders'), 'order_id')) %}
     union distinct
     select uid from {{ this }}
     where (uid, orders) not in (select uid, toUInt64(count()) from {{ ref('int_orders') }} group by uid)
     {%- endif -%})
{%- endset %}
-- On a refresh `changed` is read twice: MATERIALIZED computes it once.
{% if is_incremental() %}
with changed_uids as materialized {{ changed }}
{% endif %}
select
    o.uid as uid,
    min(o.buy_ts) as first_order_ts,
    argMin(o.order_id, (o.buy_ts, o.order_id)) as first_order_id,
    max(o.buy_ts) as last_order_ts,
    toUInt64(count()) as orders,
    sum(o.revenue) as revenue,
    sum(o.net_revenue) as net_revenue,
    max(ft.uid = o.uid) as has_visit,
    if(has_visit, any(ft.first_visit_ts), null) as first_visit_ts,
    any(ft.first_source_id) as first_source_id,
    toLowCardinality(if(has_visit, any(ft.first_device), 'unknown')) as first_device,
    toLowCardinality(if(has_visit, any(ft.first_os), 'unknown')) as first_os,
    toLowCardinality(if(has_visit, any(ft.first_country), 'unknown')) as first_country,
    toLowCardinality(if(has_visit, any(ft.first_region), 'unknown')) as first_region,
    toLowCardinality(if(has_visit, any(ft.first_city), 'unknown')) as first_city,
    toUInt64({{ latest_load_id(ref('stg_load_log')) }}) as refreshed_in
from {{ ref('int_orders') }} as o
left join (
    select * from {{ ref('int_first_touch') }}
    {{ where_uid_in('changed_uids') }}
) as ft on ft.uid = o.uid
{% if is_incremental() %}where o.uid in changed_uids{% endif %}
group by o.uid
