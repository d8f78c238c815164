{{ config(engine='MergeTree()', order_by='(cohort_month, first_source_id, first_device, lifetime_month)') }}
-- Visit cohorts: cohort_month = month of the first visit; lifetime_month = months from the cohort
-- month to the session's month. Additive across first_source_id and first_device (each user has
-- one first touch): retention = sum(active_users) / sum(cohort_users).
with sizes as (
    select
        toStartOfMonth(first_visit_ts) as cohort_month, first_source_id, first_device,
        toUInt64(count()) as cohort_users
    from {{ ref('int_first_touch') }}
    group by cohort_month, first_source_id, first_device
),
active as (
    select
        visit_cohort_month as cohort_month, first_source_id, first_device,
        toUInt32(dateDiff('month', visit_cohort_month, toStartOfMonth(start_ts))) as lifetime_month,
        toUInt64(uniqExact(uid)) as active_users
    from {{ ref('fct_sessions') }}
    group by cohort_month, first_source_id, first_device, lifetime_month
)
select
    a.cohort_month as cohort_month,
    a.first_source_id as first_source_id,
    {{ channel_of('a.first_source_id', 'c') }},
    a.first_device as first_device,
    a.lifetime_month as lifetime_month,
    s.cohort_users as cohort_users,
    a.active_users as active_users,
    a.active_users / s.cohort_users as retention
from active as a
inner join sizes as s
    on s.cohort_month = a.cohort_month and s.first_source_id = a.first_source_id and s.first_device = a.first_device
left join {{ ref('channels') }} as c on c.source_id = a.first_source_id
