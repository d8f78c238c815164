{{ config(materialized='view') }}
-- The orders that are sales (contract section 5): not cancelled and with an fx rate. Every mart
-- counts only these; cancelled orders count only in kpi_daily.cancelled_orders, orders without a
-- rate only in marts.data_issues.
select * except (is_cancelled, has_fx_rate, is_sale, replaced_day)
from {{ ref('int_order_amounts') }}
where is_sale = 1
