{{ config(
    materialized='incremental',
    incremental_strategy='append',
    engine='MergeTree()',
    order_by='month',
    pre_hook="{{ delete_where_any('month >= ' ~ first_month_with_changed_orders(ref('fct_orders'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch'), stamp='sale_changed_in')) }}"
) }}
-- Buyers per month: new (first order that month), returning (ordered that month and the month
-- before), reactivated (ordered that month, not the month before, but earlier), churned (ordered
-- the month before, not this month).
-- Incremental: a changed order in month M changes months M on (M: its arrivals, M + 1: returning
-- and churn, later months: whether a buyer's first month), so a refresh deletes and recomputes the
-- months from the earliest month of a changed order day on, from the full histories of the buyers
-- who ordered from the month before it on. Orders count by their sale_changed_in (fct_orders): a late refund
-- changes no flow. load_id = the newest such stamp among a month's orders.
{% set first_month = first_month_with_changed_orders(ref('fct_orders'), amounts=ref('int_order_amounts'), first_touch=ref('int_first_touch'), stamp='sale_changed_in') %}
with buyer_months as (
    select uid, toStartOfMonth(buy_ts) as month, max(sale_changed_in) as load_id
    from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where uid in (select uid from {{ ref('fct_orders') }} where buy_ts >= addMonths({{ first_month }}, -1))
    {% endif %}
    group by uid, month
),
histories as (
    select uid, groupArray((month, load_id)) as months, min(month) as first_month
    from buyer_months
    group by uid
),
flags as (
    select
        m.1 as order_month,
        uid,
        m.2 as load_id,
        first_month = order_month as is_new,
        has(months.1, addMonths(order_month, -1)) as active_before,
        has(months.1, addMonths(order_month, 1)) as active_after
    from histories
    array join months as m
),
bounds as (
    select toStartOfMonth(max(buy_ts)) as last_month from {{ ref('fct_orders') }}
)
-- One pass: a buyer-month counts as an arrival in its month (kind 0) and, without an order the
-- next month, as churned in the next (kind 1; not past the last month). Months without arrivals
-- get no row.
select
    if(kind = 0, order_month, addMonths(order_month, 1)) as month,
    toUInt64(countIf(kind = 0 and is_new)) as new_buyers,
    toUInt64(countIf(kind = 0 and active_before)) as returning_buyers,
    toUInt64(countIf(kind = 0 and not is_new and not active_before)) as reactivated_buyers,
    toUInt64(countIf(kind = 1)) as churned_buyers,
    maxIf(load_id, kind = 0) as load_id
from flags
array join [0, 1] as kind
where kind = 0 or (not active_after and order_month < (select last_month from bounds))
group by month
having countIf(kind = 0) > 0
{% if is_incremental() %}
   and month >= {{ first_month }}
{% endif %}
