{# Incremental customer-level models: one row per uid that depends only on that uid's own inputs, so
   a refresh rewrites just the uids whose inputs changed since the model's watermark (each model
   lists those inputs). int_first_touch (watermark max(visits_load_id)) appends new users and
   rewrites users a late visit moves earlier; int_buyers, dim_customers and customer_profiles_base
   (delete+insert by uid; watermark max(refreshed_in) = the newest load id at their last refresh,
   see macros/incremental_days.sql) rewrite the uids with changed orders, first touch or customers
   record. Visits are append-only and customers keyed by uid, so a uid never leaves them; orders are
   keyed by order_id and a reloaded order may move to another uid: its former buyer loses it, and
   with it maybe its row. #}

{# Whether rows of `counted` (a keyed input with load_id) loaded up to `watermark` were reloaded
   since: this model's `count_column` counts every row of `counted` it has seen, all loaded up to
   the watermark; a reload replaces such a row with one from a newer load. Only then can a uid have
   lost rows (the checks that follow cost a scan of the model and of the input, so a normal
   refresh skips them). `input` (relation, key), for a `counted` that also restamps rows whose
   input row did not change (int_orders: a late refund or a new fx rate gives its order the newest
   load id): a row then counts as loaded up to the watermark when its input row was (its key is not
   among the input's rows from newer loads), so the daily refunds do not take the slow path; an
   order that stopped being a sale still lowers the count. run_query: it decides which SQL runs,
   and a reload can touch any past day, so no lookback window can tell. #}
{% macro reloaded_since(counted, count_column, watermark, input=none) -%}
    {%- if execute and is_incremental() -%}
        {%- if input is none -%}
            {%- set loaded_before = 'load_id <= ' ~ watermark -%}
        {%- else -%}
            {%- set loaded_before = input[1] ~ ' not in (select ' ~ input[1] ~ ' from ' ~ input[0]
                                    ~ ' where load_id > ' ~ watermark ~ ')' -%}
        {%- endif -%}
        {%- set check = 'select (select sum(' ~ count_column ~ ') from ' ~ this ~ ') != (select count() from '
                        ~ counted ~ ' where ' ~ loaded_before ~ ')' -%}
        {{- return(run_query_once(check).columns[0].values()[0] == 1) -}}
    {%- else -%}
        {{- return(false) -}}
    {%- endif -%}
{%- endmacro %}

{# Pre-hook: deletes the rows matching `gone` (a condition on this model's rows: uids whose every
   input row is gone) when rows of `counted` were reloaded since the model's watermark
   (max(`stamp`)), see reloaded_since (`input` as there). The model then rewrites the changed uids. #}
{% macro delete_when_reloaded(gone, counted, count_column, stamp='refreshed_in', input=none) -%}
    {%- if reloaded_since(counted, count_column, incremental_watermark(stamp), input) -%}
        {{- delete_where_any(gone) -}}
    {%- endif -%}
{%- endmacro %}

{# On an incremental run, `where` the uid is one of `changed` (nothing on a full build). #}
{% macro where_uid_in(changed) -%}
    {%- if is_incremental() %}where uid in {{ changed }}{% endif -%}
{%- endmacro %}
