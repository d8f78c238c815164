{{ config(materialized='view') }}
-- The customer base without PII: one row per customer in the customer list or with orders, with
-- reachability (consent flags), profile completeness and activity. For every role.
-- A view: the stored part (marts.customer_profiles_base) changes only for the customers a
-- refresh touched; activity and RFM segment move with the as-of date and are added on read.
select
    p.uid as uid,
    p.customer_id as customer_id,
    p.city as city,
    p.country as country,
    p.registered_at as registered_at,
    p.registration_month as registration_month,
    p.email_opt_in as email_opt_in,
    p.sms_opt_in as sms_opt_in,
    p.push_opt_in as push_opt_in,
    p.has_name as has_name,
    p.has_email as has_email,
    p.has_phone as has_phone,
    p.has_gender as has_gender,
    p.has_birth_date as has_birth_date,
    p.profile_completeness as profile_completeness,
    p.is_buyer as is_buyer,
    p.orders as orders,
    p.revenue as revenue,
    p.first_order_ts as first_order_ts,
    p.last_order_ts as last_order_ts,
    {{ customer_activity('p', ref('fct_orders')) }},
    r.segment as segment,
    r.macro_segment as macro_segment,
    p.first_source_id as first_source_id,
    p.channel as channel
from {{ ref('customer_profiles_base') }} as p
left join (select uid, segment, macro_segment from {{ ref('rfm_scores') }}) as r on r.uid = p.uid
