-- money_daily's net money equals the sales' (fct_orders) and kpi_daily's, in total and per sales channel
-- (fct_orders). Rows returned = failures.
with
    orders as (
        select sales_channel, toUInt64(count()) as orders, sum(refunded) as refunded, sum(discount) as discounts,
            sum(net_revenue) as net_revenue, sum(cogs) as cogs, sum(gross_profit) as gross_profit
        from {{ ref('fct_orders') }}
        group by sales_channel
    ),
    mart as (
        select sales_channel, toUInt64(sum(orders)) as orders, sum(refunded) as refunded,
            sum(discounts) as discounts, sum(net_revenue) as net_revenue, sum(cogs) as cogs,
            sum(gross_profit) as gross_profit
        from {{ ref('money_daily') }}
        group by sales_channel
    )
select 'fct_orders' as against, o.sales_channel as sales_channel, m.sales_channel as mart_sales_channel
from orders as o
full outer join mart as m on m.sales_channel = o.sales_channel
where (o.orders, o.refunded, o.discounts, o.net_revenue, o.cogs)
   != (m.orders, m.refunded, m.discounts, m.net_revenue, m.cogs)
   or abs(o.gross_profit - m.gross_profit) > 0.005
union all
select 'kpi_daily', '', ''
where (select (sum(net_revenue), sum(refunded), sum(discounts), toUInt64(sum(orders))) from {{ ref('kpi_daily') }})
   != (select (sum(net_revenue), sum(refunded), sum(discounts), toUInt64(sum(orders))) from {{ ref('money_daily') }})
