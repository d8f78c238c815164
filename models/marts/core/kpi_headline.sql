{{ config(engine='MergeTree()', order_by='tuple()', query_settings={'enable_materialized_cte': 1}) }}
-- The headline figures of the contract, one row. Medians are exact and interpolated
-- (quantileExactInclusive); the mode of session length is the most frequent whole second,
-- the smallest on ties. Buyers (for CAC) = int_buyers' rows, one per uid with orders.
with
    (select avg(dau) from {{ ref('activity_daily') }}) as dau_mean,
    (select avg(wau) from {{ ref('activity_weekly') }}) as wau_mean,
    (select avg(mau) from {{ ref('activity_monthly') }}) as mau_mean,
    (select avg(sessions / dau) from {{ ref('activity_daily') }}) as sessions_per_user,
    (select toStartOfMonth(max(buy_ts)) from {{ ref('fct_orders') }}) as last_order_month,
    -- read twice: MATERIALIZED computes it once
    six_month_cohorts as materialized (
        select
            cohort_month,
            sumIf(cohort_buyers, age_month = 0) as buyers,
            sumIf(orders, age_month <= 5) as orders_6m,
            sumIf(cum_gross_profit, age_month = 5) as cum_gross_profit_6m
        from {{ ref('ltv_monthly') }}
        where dateDiff('month', cohort_month, last_order_month) >= 5
        group by cohort_month
    ),
    -- Session lengths are whole seconds: one pass groups them into a histogram, from which the
    -- mean, the exact median (as quantileExactInclusive: the mean of the values at 0-based ranks
    -- (n - 1) / 2 rounded down and up) and the mode follow without sorting every session.
    length_histogram as (
        select duration_s, count() as sessions from {{ ref('fct_sessions') }} group by duration_s
    ),
    length_ranks as (
        select
            duration_s,
            sessions,
            sum(sessions) over (order by duration_s rows between unbounded preceding and current row) as cumulative,
            sum(sessions) over () as total
        from length_histogram
    ),
    session_lengths as (
        select
            sum(duration_s * sessions) / any(total) as asl_mean_s,
            minIf(duration_s, cumulative > intDiv(total - 1, 2)) as median_low,
            minIf(duration_s, cumulative > intDiv(total, 2)) as median_high,
            (median_low + median_high) / 2 as asl_median_s,
            argMax(duration_s, (sessions, -toInt64(duration_s))) as asl_mode_s
        from length_ranks
    ),
    orders_summary as (
        select toFloat64(sum(revenue)) / count() as aov, (select count() from {{ ref('int_buyers') }}) as buyers
        from {{ ref('fct_orders') }}
    ),
    spend as (
        select toFloat64(sum(costs)) as costs from {{ ref('stg_costs') }}
    )
select
    dau_mean as dau,
    wau_mean as wau,
    mau_mean as mau,
    dau_mean / wau_mean as sticky_wau,
    dau_mean / mau_mean as sticky_mau,
    sessions_per_user as sessions_per_user_day,
    l.asl_mean_s as asl_mean_s,
    l.asl_median_s as asl_median_s,
    toFloat64(l.asl_mode_s) as asl_mode_s,
    (select toFloat64(quantileExactInclusive(0.5)(ttf_seconds)) from {{ ref('ttf_buyers') }}) as ttf_median_s,
    (select avg(orders_6m / buyers) from six_month_cohorts) as orders_per_buyer_6m,
    o.aov as aov,
    (select avg(cum_gross_profit_6m / buyers) from six_month_cohorts) as ltv_6m,
    s.costs / o.buyers as cac,
    ltv_6m / cac - 1 as romi_6m
from session_lengths as l
cross join orders_summary as o
cross join spend as s
