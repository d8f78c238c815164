-- Marts revenue equals the sales' revenue (fct_orders, kpi_daily, sales_daily, money_daily; int_orders: the orders
-- that are sales, converted to the base currency). Rows returned = failures.
with (select sum(revenue) from {{ ref('int_orders') }}) as raw_revenue
select mart, revenue
from (
    select 'fct_orders' as mart, (select sum(revenue) from {{ ref('fct_orders') }}) as revenue
    union all
    select 'kpi_daily', (select sum(revenue) from {{ ref('kpi_daily') }})
    union all
    select 'sales_daily', (select sum(revenue) from {{ ref('sales_daily') }})
    union all
    select 'money_daily', (select sum(revenue) from {{ ref('money_daily') }})
)
where revenue != raw_revenue
