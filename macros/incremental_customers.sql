{# Incremental customer-level models: one row per uid that depends only on that uid's own inputs, so
   a refresh rewrites just the uids whose inputs changed since the model's watermark.
   int_first_touch (watermark max(visits_load_id)) appends new users and rewrites users a late visit
   moves earlier; int_buyers and dim_customers (delete+insert by uid; watermark max(refreshed_in) =
   the newest load id at their last refresh, see macros/incremental_days.sql) rewrite the uids with
   changed orders, first touch or customers record. Visits are append-only and customers keyed by
   uid, so a uid never leaves them; orders are keyed by order_id and a reloaded order may move to
   another uid: its former buyer loses it, and with it maybe its int_buyers row. #}

{# Whether orders loaded up to `watermark` were reloaded since: the model's `orders` column counts
   every order it has seen, all loaded up to the watermark; a reload replaces such an order with
   one from a newer load. Only then can a uid have lost orders (the checks below cost a scan of the
   model and of all orders, so a normal refresh skips them). #}
{% macro orders_reloaded_since(watermark) -%}
    {%- if execute and is_incremental() -%}
        {%- set check = 'select (select sum(orders) from ' ~ this ~ ') != (select count() from '
                        ~ ref('int_orders') ~ ' where load_id <= ' ~ watermark ~ ')' -%}
        {{- return(run_query(check).columns[0].values()[0] == 1) -}}
    {%- else -%}
        {{- return(false) -}}
    {%- endif -%}
{%- endmacro %}

{# Pre-hook: deletes the rows of uids whose every input row is gone (`gone`: a condition on this
   model's rows), when orders were reloaded (see above). The model then rewrites the changed uids. #}
{% macro delete_vanished_uids(gone) -%}
    {%- if orders_reloaded_since(incremental_watermark('refreshed_in')) -%}
        {{- delete_where_any(gone) -}}
    {%- endif -%}
{%- endmacro %}

{# int_buyers: buyers whose row may differ from the stored one: buyers with orders from new loads,
   users whose first touch int_first_touch rewrote and, after reloads, stored buyers whose order
   count no longer matches (without a new-load order a buyer can only lose orders, so the count
   tells). #}
{% macro changed_buyers(watermark) -%}
    (select uid from {{ ref('int_order_amounts') }} where load_id > {{ watermark }}
     union distinct
     select uid from {{ ref('int_first_touch') }} where visits_load_id > {{ watermark }}
     {%- if orders_reloaded_since(watermark) %}
     union distinct
     select uid from {{ this }}
     where (uid, orders) not in (select uid, toUInt64(count()) from {{ ref('int_orders') }} group by uid)
     {%- endif -%})
{%- endmacro %}

{# dim_customers: uids whose row may differ from the stored one: rewritten int_first_touch and
   int_buyers rows, new customers records and, after reloads, stored buyers int_buyers no longer
   holds. #}
{% macro changed_customers(watermark) -%}
    (select uid from {{ ref('int_first_touch') }} where visits_load_id > {{ watermark }}
     union distinct
     select uid from {{ ref('int_buyers') }} where refreshed_in > {{ watermark }}
     union distinct
     select uid from {{ ref('stg_customers') }} where load_id > {{ watermark }}
     {%- if orders_reloaded_since(watermark) %}
     union distinct
     select uid from {{ this }} where orders > 0 and uid not in (select uid from {{ ref('int_buyers') }})
     {%- endif -%})
{%- endmacro %}

{# On an incremental run, `where` the uid is one of `changed` (nothing on a full build). #}
{% macro where_uid_in(changed) -%}
    {%- if is_incremental() %}where uid in {{ changed }}{% endif -%}
{%- endmacro %}

{# int_first_touch pre-hook: users whose stored first session comes after one of the new loads'
   visits (a late visit) lose their row; the model rewrites it from the new visits. On a normal
   refresh every new visit starts after the newest stored first visit, which is cheap to check, and
   the per-user comparison (a scan of the table) is skipped. #}
{% macro delete_users_with_earlier_new_visit() -%}
    {%- if execute and is_incremental() -%}
        {%- set watermark = incremental_watermark('visits_load_id') -%}
        {%- set new_visits = '(select * from ' ~ ref('stg_visits') ~ ' where load_id > ' ~ watermark ~ ')' -%}
        {%- set check = 'select (select min(start_ts) from ' ~ new_visits ~ ') <= (select max(first_visit_ts) from '
                        ~ this ~ ')' -%}
        {%- if run_query(check).columns[0].values()[0] == 1 -%}
            {{- delete_where_any('uid in (select t.uid from ' ~ this ~ ' as t inner join (select uid, '
                                 ~ 'min((start_ts, source_id, device, end_ts)) as earliest from ' ~ new_visits
                                 ~ ' group by uid) as n on n.uid = t.uid where n.earliest < t.first_session)') -}}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
