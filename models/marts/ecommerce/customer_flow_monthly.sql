{{ config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by='month',
    pre_hook="{{ delete_where_any('month >= ' ~ first_month_with_changed_orders()) }}"
) }}
-- Buyers per month: new (first order that month), returning (ordered that month and the month
-- before), reactivated (ordered that month, not the month before, but earlier), churned (ordered
-- the month before, not this month).
-- Incremental: a changed order in month M changes months M on (M: its arrivals, M + 1: returning
-- and churn, later months: whether a buyer's first month), so a refresh deletes and recomputes the
-- months from the earliest month of a changed order day on, from the full histories of the buyers
-- who ordered from the month before it on. load_id = newest refreshed_in among a month's orders.
{% set first_month = first_month_with_changed_orders() %}
with buyer_months as (
    select uid, toStartOfMonth(buy_ts) as month, max(refreshed_in) as load_id
    from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where uid in (select uid from {{ ref('fct_orders') }} where buy_ts >= addMonths({{ first_month }}, -1))
    {% endif %}
    group by uid, month
),
histories as (
    select uid, groupArray(month) as months, min(month) as first_month
    from buyer_months
    group by uid
),
flags as (
    select
        m.month as month,
        m.uid as uid,
        m.load_id as load_id,
        h.first_month = m.month as is_new,
        has(h.months, addMonths(m.month, -1)) as active_before,
        has(h.months, addMonths(m.month, 1)) as active_after
    from buyer_months as m
    inner join histories as h on h.uid = m.uid
),
bounds as (
    select max(month) as last_month from buyer_months
),
arrivals as (
    select
        month,
        toUInt64(countIf(is_new)) as new_buyers,
        toUInt64(countIf(active_before)) as returning_buyers,
        toUInt64(countIf(not is_new and not active_before)) as reactivated_buyers,
        max(load_id) as load_id
    from flags
    group by month
),
departures as (
    select addMonths(month, 1) as churn_month, toUInt64(count()) as churned_buyers
    from flags
    where not active_after and month < (select last_month from bounds)
    group by churn_month
)
select
    a.month as month,
    a.new_buyers as new_buyers,
    a.returning_buyers as returning_buyers,
    a.reactivated_buyers as reactivated_buyers,
    d.churned_buyers as churned_buyers,
    a.load_id as load_id
from arrivals as a
left join departures as d on d.churn_month = a.month
{% if is_incremental() %}
where a.month >= {{ first_month }}
{% endif %}
