-- Attribution credits sum to 1 per order: for every day and model, the credited orders equal the
-- day's orders (within 1e-9 per order) and the credited revenue equals the day's revenue (within the
-- Decimal rounding of the credits); every model covers every day with orders; roas_monthly carries
-- attribution_daily's totals. Rows returned = failures.
with
    orders as (
        select toDate(buy_ts) as day, toFloat64(count()) as orders, toFloat64(sum(revenue)) as revenue
        from {{ ref('fct_orders') }}
        group by day
    ),
    credited as (
        select day, model, sum(orders) as orders, toFloat64(sum(revenue)) as revenue
        from {{ ref('attribution_daily') }}
        group by day, model
    ),
    expected as (
        select o.day as day, m.model as model, o.orders as orders, o.revenue as revenue
        from orders as o
        cross join (select arrayJoin({{ attribution_models() }}) as model) as m
    )
select 'attribution_daily' as mart, toString(e.day) as period, e.model as model, e.orders, c.orders
from expected as e
full outer join credited as c on c.day = e.day and c.model = e.model
where abs(e.orders - c.orders) > 1e-9 * e.orders or abs(e.revenue - c.revenue) > 1e-6 * e.orders
   or e.orders = 0
union all
select 'roas_monthly', toString(month), model, r.orders, a.orders
from (select month, model, sum(orders) as orders, sum(revenue) as revenue from {{ ref('roas_monthly') }}
      group by month, model) as r
full outer join (select toStartOfMonth(day) as month, model, sum(orders) as orders, sum(revenue) as revenue
                 from {{ ref('attribution_daily') }} group by month, model) as a using (month, model)
where abs(r.orders - a.orders) > 1e-9 * a.orders or r.revenue != a.revenue
