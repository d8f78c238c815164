{# Days whose distinct users or buyers (kpi_users_daily, kpi_users_monthly) may change: the days of
   visits from new loads, of orders fct_orders rewrote or moved away from, and of orders that stopped
   being sales (macros/incremental_days.sql). Item lines and first touches of buyers with only
   cancelled orders leave both counts alone, unlike kpi_daily's days. `watermark`: a literal, or by
   default the model's max(load_id) when the query runs. #}
{% macro kpi_users_changed_days(watermark=none) -%}
    {%- set since = mart_watermark() if watermark is none else watermark -%}
    (select distinct toDate(start_ts) from {{ ref('fct_sessions') }} where load_id > {{ since }}
     union distinct
     select * from {{ changed_order_days(ref('fct_orders'), watermark=since, amounts=ref('int_order_amounts')) }})
{%- endmacro %}
