-- depends_on: {{ ref('int_orders') }}, {{ ref('int_order_amounts') }}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='uid',
    engine='MergeTree()',
    order_by='uid',
    pre_hook="{{ delete_when_reloaded('uid not in (select uid from ' ~ ref('dim_customers')
                                      ~ ' where in_customer_base or orders > 0)', ref('int_orders'), 'orders',
                                      input=(ref('stg_orders'), 'order_id')) }}"
) }}
-- The customer base without PII, one row per customer in the customer list or with orders: the
-- columns that do not depend on the as-of date (marts.customer_profiles adds those).
-- Incremental (macros/incremental_customers.sql): a refresh rewrites the uids dim_customers
-- rewrote; after order reloads the pre-hook deletes uids that left the base. Equals a full rebuild.
select
    d.uid as uid,
    toString(d.uid) as customer_id,
    d.city as city,
    d.country as country,
    d.registered_at as registered_at,
    toStartOfMonth(d.registered_at) as registration_month,
    d.email_opt_in as email_opt_in,
    d.sms_opt_in as sms_opt_in,
    d.push_opt_in as push_opt_in,
    toUInt8(d.name != '') as has_name,
    toUInt8(d.email != '') as has_email,
    toUInt8(d.phone != '') as has_phone,
    CAST(d.gender != '' AS UInt8) as has_gender,
    toUInt8(d.birth_date is not null) as has_birth_date,
    (has_name + has_email + has_phone + CAST(d.city != 'unknown' AS UInt8) + has_gender + has_birth_date) / 6
        as profile_completeness,
    toUInt8(d.orders > 0) as is_buyer,
    d.orders as orders,
    d.revenue as revenue,
    d.net_revenue as net_revenue,
    d.first_order_ts as first_order_ts,
    d.last_order_ts as last_order_ts,
    d.first_source_id as first_source_id,
    d.channel as channel,
    toUInt64({{ latest_load_id(ref('stg_load_log')) }}) as refreshed_in
from {{ ref('dim_customers') }} as d
where (d.in_customer_base or d.orders > 0)
{% if is_incremental() %}
  and d.uid in (select uid from {{ ref('dim_customers') }}
                where refreshed_in > {{ incremental_watermark('refreshed_in') }})
{% endif %}
