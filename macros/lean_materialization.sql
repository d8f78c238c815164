{# Leaner versions of two dbt-clickhouse steps. Project macros take precedence over the adapter's
   macros of the same name, and its materializations call these. Why: a daily refresh runs ~30
   models on one day of data, where the adapter's fixed cost per model (statements, each SQL
   analysed twice, adapter calls that each build a fresh macro context) is about as large as the
   work on the changed rows.

   delete+insert: the adapter's version creates an empty MergeTree table from the model's SQL,
   reads its columns, inserts the new rows, deletes the replaced keys, reads the target's columns,
   copies the rows over and drops the table with two more statements. Here the new rows go into a
   table in the target's column order with one CREATE ... AS SELECT (a plain MergeTree without a
   sort key: on disk, as a reload of all history can change every row of a model), then the same
   delete and insert, then a drop: the same rows and the same order of effects (a failure before
   the delete leaves the target untouched). Distributed tables and ClickHouse Cloud's Shared engine
   keep the adapter's version, as does every model with `--vars '{stock_materialization: true}'` (how
   bench/build.py --compare-mechanisms measures what these macros save). #}
{% macro clickhouse__incremental_delete_insert(existing_relation, unique_key, incremental_predicates, is_distributed=False) %}
    {%- if is_distributed or target.database_engine == 'Shared' or var('stock_materialization', false) -%}
        {%- do return(dbt.clickhouse__incremental_delete_insert(existing_relation, unique_key,
                                                                incremental_predicates, is_distributed)) -%}
    {%- endif -%}
    {%- set new_data = existing_relation.incorporate(path={"identifier": existing_relation.identifier
                                                             ~ '__dbt_new_data_' ~ invocation_id.replace('-', '_')}) -%}
    {#- the target's columns by name, in its order: the model may list them otherwise, and a column the
        model no longer has fails here instead of shifting the others -#}
    {%- set columns = get_columns_in_relation(existing_relation) | map(attribute='quoted') | join(', ') -%}
    {%- set query_settings = adapter.get_model_query_settings(model) -%}
    {% call statement('main') %}
        {{ config.get('sql_header', none) or '' }}
        create table {{ new_data }} engine = MergeTree order by tuple() as
        select {{ columns }} from (
            {{ sql }}
        ) {{ query_settings }}
    {% endcall %}
    {% call statement('delete_existing_data') %}
        delete from {{ existing_relation }} where ({{ unique_key }}) in (select {{ unique_key }} from {{ new_data }})
        {%- for predicate in incremental_predicates %} and {{ predicate }}{% endfor %}
        {{ query_settings }}
    {% endcall %}
    {% call statement('insert_new_data') %}
        insert into {{ existing_relation }} select * from {{ new_data }} {{ query_settings }}
    {% endcall %}
    {% call statement('drop_new_data') %}
        drop table {{ new_data }} sync
    {% endcall %}
{% endmacro %}

{# dbt-clickhouse's "create table as": it creates the table empty from the model's SQL, reads the
   new table's columns back and inserts, three statements with the SQL analysed twice. A plain
   CREATE TABLE ... AS SELECT does the same in one. Temporary tables, enforced contracts and
   projections or indexes (added between create and insert) keep the adapter's version. #}
{% macro clickhouse__create_table_as(temporary, relation, sql) -%}
    {%- if temporary or config.get('contract').enforced or config.get('projections') or config.get('indexes')
          or var('stock_materialization', false) -%}
        {{ dbt.clickhouse__create_table_as(temporary, relation, sql) }}
    {%- else -%}
        {{ config.get('sql_header', none) or '' }}
        create table {{ relation }} {{ on_cluster_clause(relation) }}
        {{ engine_clause() }}
        {{ order_cols(label="order by") }}
        {{ primary_key_clause(label="primary key") }}
        {{ partition_cols(label="partition by") }}
        {{ ttl_config(label="ttl") }}
        {{ adapter.get_model_settings(model, config.get('engine', default='MergeTree')) }}
        as (
            {{ sql }}
        )
        {{ adapter.get_model_query_settings(model) }}
    {%- endif %}
{%- endmacro %}
