-- Marts revenue equals raw revenue (fct_orders, kpi_daily, sales_daily). Rows returned = failures.
with raw as (select sum(revenue) as revenue from {{ ref('stg_orders') }})
select 'fct_orders' as mart, (select sum(revenue) from {{ ref('fct_orders') }}) as revenue from raw
where revenue != (select revenue from raw)
union all
select 'kpi_daily', (select sum(revenue) from {{ ref('kpi_daily') }}) as revenue from raw
where revenue != (select revenue from raw)
union all
select 'sales_daily', (select sum(revenue) from {{ ref('sales_daily') }}) as revenue from raw
where revenue != (select revenue from raw)
