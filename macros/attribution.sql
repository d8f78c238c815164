{# Multi-touch attribution (docs/CONTRACT.md section 6): the models, the lookback window and the days
   a refresh of attribution_daily recomputes. #}

{# The five attribution models, in the order dashboards list them. #}
{% macro attribution_models() -%}
    {{- return(['first', 'last', 'linear', 'time_decay', 'position_based']) -}}
{%- endmacro %}

{% macro attribution_lookback_days() -%}
    {{- return(var('attribution_lookback_days', 30) | int) -}}
{%- endmacro %}

{# Whether a session at `start_ts` is a touchpoint of an order at `buy_ts` (same buyer):
   buy_ts - lookback <= start_ts <= buy_ts. #}
{% macro is_touchpoint(start_ts, buy_ts) -%}
    ({{ start_ts }} <= {{ buy_ts }} and {{ start_ts }} >= {{ buy_ts }} - toIntervalDay({{ attribution_lookback_days() }}))
{%- endmacro %}

{# Days whose attribution changes on a refresh: days of `orders` (fct_orders) rewritten since the
   mart's last refresh (or that replaced orders left), and days of orders that a session of `visits`
   (uid, start_ts, load_id) from a newer load than the mart's watermark falls into the lookback
   window of (a late or a new visit of their buyer); `amounts`, `first_touch`: see changed_order_days. #}
{% macro changed_attribution_days(orders, visits, amounts=none, first_touch=none) -%}
    (select * from {{ changed_order_days(orders, amounts=amounts, first_touch=first_touch) }}
     union distinct
     select toDate(o.buy_ts) as day
     from {{ orders }} as o
     inner join (
         select uid, start_ts from {{ visits }} where load_id > {{ mart_watermark() }}
     ) as v on v.uid = o.uid
     where o.uid in (select uid from {{ visits }} where load_id > {{ mart_watermark() }})
       and {{ is_touchpoint('v.start_ts', 'o.buy_ts') }})
{%- endmacro %}

