{{ config(engine='MergeTree()', order_by='(cohort_month, first_source_id, first_device, sales_channel, age_month)') }}
-- Buyer cohorts: cohort_month = month of the first order; age_month = months from it to the
-- order's month; sales_channel = the sales channel of the buyer's first order (the cohort's, like its
-- first-touch channel: every order of the buyer counts in it; 'unknown' for all when the input has no
-- sales channel, so the figures stay as without it). One row for every age up to the last month with
-- orders, so cumulative LTV has no gaps. Additive across first_source_id / first_device / sales_channel:
-- LTV(cohort, k) = sum(cum_gross_profit at age k) / sum(cohort_buyers).
with last_month as (
    select toStartOfMonth(max(buy_ts)) as m from {{ ref('fct_orders') }}
),
first_orders as (
    select uid, sales_channel from {{ ref('fct_orders') }} where is_first_order = 1
),
cohorts as (
    select
        toStartOfMonth(b.first_order_ts) as cohort_month, b.first_source_id as first_source_id,
        b.first_device as first_device, f.sales_channel as sales_channel,
        toUInt64(count()) as cohort_buyers
    from {{ ref('int_buyers') }} as b
    inner join first_orders as f on f.uid = b.uid
    group by cohort_month, first_source_id, first_device, sales_channel
),
grid as (
    {{ cohort_age_grid('cohorts', 'age_month', '(select m from last_month)') }}
),
activity as (
    select
        o.order_cohort_month as cohort_month, o.first_source_id as first_source_id, o.first_device as first_device,
        f.sales_channel as sales_channel,
        toUInt32(dateDiff('month', o.order_cohort_month, toStartOfMonth(o.buy_ts))) as age_month,
        toUInt64(uniqExact(o.uid)) as active_buyers,
        toUInt64(count()) as orders,
        sum(o.revenue) as revenue,
        sum(o.gross_profit) as gross_profit
    from {{ ref('fct_orders') }} as o
    inner join first_orders as f on f.uid = o.uid
    group by cohort_month, first_source_id, first_device, sales_channel, age_month
)
select
    g.cohort_month as cohort_month,
    g.first_source_id as first_source_id,
    {{ channel_of('g.first_source_id', 'c') }},
    g.first_device as first_device,
    toLowCardinality(g.sales_channel) as sales_channel,
    g.age_month as age_month,
    g.cohort_buyers as cohort_buyers,
    a.active_buyers as active_buyers,
    a.orders as orders,
    a.revenue as revenue,
    -- contract section 5: net of refunds, tax, shipping and COGS (revenue x margin_rate without those inputs)
    toFloat64(a.gross_profit) as gross_profit,
    sum(gross_profit) over (
        partition by g.cohort_month, g.first_source_id, g.first_device, g.sales_channel order by g.age_month
        rows between unbounded preceding and current row
    ) as cum_gross_profit,
    cum_gross_profit / g.cohort_buyers as ltv
from grid as g
left join activity as a
    on a.cohort_month = g.cohort_month and a.first_source_id = g.first_source_id
    and a.first_device = g.first_device and a.sales_channel = g.sales_channel and a.age_month = g.age_month
left join {{ ref('channels') }} as c on c.source_id = g.first_source_id
