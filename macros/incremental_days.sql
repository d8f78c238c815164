{# Day-keyed incremental marts (delete+insert by day). Each row carries load_id = the highest load
   among the rows it aggregates, so max(load_id) of the mart is the newest load it has seen (and a
   full rebuild yields the same values). A refresh recomputes only the days that rows from newer
   loads touch. #}
{% macro mart_watermark() -%}
    (select max(load_id) from {{ this }})
{%- endmacro %}

{# Days whose sessions-based figures change: days of sessions from new loads. #}
{% macro new_session_periods(period_expr) -%}
    (select distinct {{ period_expr }} from {{ ref('fct_sessions') }} where load_id > {{ mart_watermark() }})
{%- endmacro %}

{# Days whose order-based figures change: every order day of buyers with new orders or new visits
   (their first touch / first order attribution may change), and days of orders with new item lines. #}
{% macro changed_order_days() -%}
    (select distinct toDate(buy_ts) from {{ ref('fct_orders') }}
     where uid in (select uid from {{ ref('fct_orders') }}
                   where load_id > {{ mart_watermark() }} or visits_load_id > {{ mart_watermark() }})
        or order_id in (select order_id from {{ ref('stg_order_items') }} where load_id > {{ mart_watermark() }}))
{%- endmacro %}

{# Days to recompute in marts that combine sessions and orders per day. #}
{% macro changed_days() -%}
    (select * from {{ new_session_periods('toDate(start_ts)') }} union distinct select * from {{ changed_order_days() }})
{%- endmacro %}
