{{ config(engine='MergeTree()', order_by='(city, activity_status)') }}
-- The Customer base dashboard's figures per registration month x city x activity status, as sums
-- (shares = sum / contacts): a few thousand rows instead of one row per customer.
select
    registration_month,
    city,
    activity_status,
    toUInt64(count()) as contacts,
    toUInt64(sum(email_opt_in * has_email)) as reachable_email,
    toUInt64(sum(sms_opt_in * has_phone)) as reachable_sms,
    toUInt64(sum(push_opt_in)) as reachable_push,
    sum(profile_completeness) as profile_completeness_sum
from (
    select p.*, {{ customer_activity('p', ref('fct_orders')) }}
    from {{ ref('customer_profiles_base') }} as p
)
group by registration_month, city, activity_status
