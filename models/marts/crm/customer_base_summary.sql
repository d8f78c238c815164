{{ config(engine='MergeTree()', order_by='(city, activity_status)') }}
-- The Customer base dashboard's figures per registration month x city x activity status, as sums
-- (shares = sum / contacts): a few thousand rows instead of one row per customer. The status's
-- readable label comes from seeds/activity_statuses.csv.
select
    c.registration_month as registration_month,
    c.city as city,
    c.activity_status as activity_status,
    a.activity_label as activity_label,
    toUInt64(count()) as contacts,
    toUInt64(sum(c.email_opt_in * c.has_email)) as reachable_email,
    toUInt64(sum(c.sms_opt_in * c.has_phone)) as reachable_sms,
    toUInt64(sum(c.push_opt_in)) as reachable_push,
    sum(c.profile_completeness) as profile_completeness_sum
from (
    select p.*, {{ customer_activity('p', ref('fct_orders')) }}
    from {{ ref('customer_profiles_base') }} as p
) as c
left join {{ ref('activity_statuses') }} as a on a.activity_status = c.activity_status
group by registration_month, city, activity_status, activity_label
