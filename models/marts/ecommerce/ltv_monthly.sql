{{ config(engine='MergeTree()', order_by='(cohort_month, first_source_id, first_device, age_month)') }}
-- Buyer cohorts: cohort_month = month of the first order; age_month = months from it to the
-- order's month. One row for every age up to the last month with orders, so cumulative LTV has no
-- gaps. Additive across first_source_id / first_device:
-- LTV(cohort, k) = sum(cum_gross_profit at age k) / sum(cohort_buyers).
with last_month as (
    select toStartOfMonth(max(buy_ts)) as m from {{ ref('fct_orders') }}
),
cohorts as (
    select
        toStartOfMonth(first_order_ts) as cohort_month, first_source_id, first_device,
        toUInt64(count()) as cohort_buyers
    from {{ ref('int_buyers') }}
    group by cohort_month, first_source_id, first_device
),
grid as (
    {{ cohort_age_grid('cohorts', 'age_month', '(select m from last_month)') }}
),
activity as (
    select
        order_cohort_month as cohort_month, first_source_id, first_device,
        toUInt32(dateDiff('month', order_cohort_month, toStartOfMonth(buy_ts))) as age_month,
        toUInt64(uniqExact(uid)) as active_buyers,
        toUInt64(count()) as orders,
        sum(revenue) as revenue,
        sum(gross_profit) as gross_profit
    from {{ ref('fct_orders') }}
    group by cohort_month, first_source_id, first_device, age_month
)
select
    g.cohort_month as cohort_month,
    g.first_source_id as first_source_id,
    {{ channel_of('g.first_source_id', 'c') }},
    g.first_device as first_device,
    g.age_month as age_month,
    g.cohort_buyers as cohort_buyers,
    a.active_buyers as active_buyers,
    a.orders as orders,
    a.revenue as revenue,
    -- contract section 5: net of refunds, tax, shipping and COGS (revenue x margin_rate without those inputs)
    toFloat64(a.gross_profit) as gross_profit,
    sum(gross_profit) over (
        partition by g.cohort_month, g.first_source_id, g.first_device order by g.age_month
        rows between unbounded preceding and current row
    ) as cum_gross_profit,
    cum_gross_profit / g.cohort_buyers as ltv
from grid as g
left join activity as a
    on a.cohort_month = g.cohort_month and a.first_source_id = g.first_source_id
    and a.first_device = g.first_device and a.age_month = g.age_month
left join {{ ref('channels') }} as c on c.source_id = g.first_source_id
