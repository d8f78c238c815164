{# Days whose distinct users (kpi_users_daily.users_bitmap) may change: the days of visits in `sessions`
   (fct_sessions) from loads after `watermark` (fct_sessions only appends visits; a rewrite keeps a visit's
   day, source, OS and user). #}
{% macro kpi_users_session_days(sessions, watermark) -%}
    (select distinct toDate(start_ts) from {{ sessions }} where load_id > {{ watermark }})
{%- endmacro %}

{# Days whose distinct buyers (kpi_users_daily.buyers_bitmap) may change: the days of `orders` (fct_orders)
   rewritten or moved away from since `watermark` and of orders that stopped being sales (`amounts`:
   int_order_amounts; see changed_order_days in macros/incremental_days.sql), by their sale_changed_in: a
   late refund changes no buyer. Item lines and cancelled orders' first touches, which kpi_daily's days
   also follow, leave the buyers alone. #}
{% macro kpi_users_order_days(orders, amounts, watermark) -%}
    {{ changed_order_days(orders, watermark=watermark, amounts=amounts, stamp='sale_changed_in') }}
{%- endmacro %}
