{# Incremental data tests: a key test that passed has checked every row up to the newest refresh
   stamp (`changed_column`: a load / refresh id incremental models write on the rows they write)
   of that table. A refresh then checks the rows stamped after that watermark (or not stamped)
   against the whole table, instead of re-checking 10M unchanged rows every day.

   State: intermediate.dbt_verified_checks, one row per passing check and run (check, table uuid,
   watermark). The table's uuid ties the watermark to one table: a full refresh, a dropped and
   rebuilt model or a reset warehouse give a new uuid (or no state) and the next check covers all
   rows again. A failed check records nothing, so its rows stay in scope until one passes.
   `--full-refresh`, `ecomlytics build --verify-all` and `--vars '{verify_all: true}'` check every row. #}

{% macro verified_checks_relation() -%}
    {{- return(api.Relation.create(schema='intermediate', identifier='dbt_verified_checks')) -}}
{%- endmacro %}

{# The key names the published schema (marts), also for a table built in its shadow (marts__next, see
   ecomlytics/dbt/publish.py): the table uuid tells the generations apart, and a check on the published
   table finds the watermark recorded when it was built. #}
{% macro verified_check_key(test_name, relation, column_name) -%}
    {%- set suffix = var('shadow_suffix', '') -%}
    {%- set schema = relation.schema[:-(suffix | length)] if suffix and relation.schema.endswith(suffix) else relation.schema -%}
    {{- return(test_name ~ ':' ~ schema ~ '.' ~ relation.identifier ~ '.' ~ column_name) -}}
{%- endmacro %}

{# The table's row in system.tables, if it has a uuid (Atomic databases, ClickHouse's default). #}
{% macro table_of(relation) -%}
    system.tables where database = '{{ relation.schema }}' and name = '{{ relation.identifier }}'
    and uuid != toUUID('00000000-0000-0000-0000-000000000000')
{%- endmacro %}

{# The stamp after which `test_name` on `model`.`column_name` must check rows: the watermark of its
   last pass on this very table (a refresh writes rows only for loads newer than its model's
   watermark and stamps them with such a load's id); none = check every row. #}
{% macro verified_since(test_name, model, column_name, changed_column) -%}
    {%- if not execute or not changed_column or flags.FULL_REFRESH or var('verify_all', false)
          or model.identifier is not defined -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set state = verified_checks_relation() -%}
    {%- if adapter.get_relation(database=state.database, schema=state.schema, identifier=state.identifier) is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set query -%}
        select maxOrNull(watermark) from {{ state }}
        where check_key = '{{ verified_check_key(test_name, model, column_name) }}' and table_uuid in (select uuid from {{ table_of(model) }})
    {%- endset -%}
    {{- return(run_query(query).columns[0].values()[0]) -}}
{%- endmacro %}

{# on-run-end: records the watermark of every incremental check that passed in this run. #}
{% macro record_verified_checks(results) -%}
    {%- if execute -%}
        {%- set rows = [] -%}
        {%- for result in results -%}
            {%- set node = result.node -%}
            {%- set kwargs = node.test_metadata.kwargs if node.resource_type == 'test' and node.test_metadata else {} -%}
            {%- set tested = graph.nodes.get(node.attached_node) if kwargs.get('changed_column') else none -%}
            {%- if tested and result.status == 'pass' -%}
                {%- set relation = api.Relation.create(schema=tested.schema, identifier=tested.alias) -%}
                {%- do rows.append("select '" ~ verified_check_key(node.test_metadata.name, relation, kwargs.column_name or kwargs.get('columns', []) | join('+'))
                                   ~ "', uuid, (select max(" ~ kwargs.changed_column ~ ") from " ~ relation ~ ") from "
                                   ~ table_of(relation)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if rows -%}
            {%- set state = verified_checks_relation() -%}
            {%- do run_query('create database if not exists ' ~ state.schema) -%}
            {%- do run_query('create table if not exists ' ~ state ~ ' (check_key String, table_uuid UUID, '
                             ~ 'watermark UInt64, recorded_at DateTime default now()) '
                             ~ 'engine = ReplacingMergeTree(recorded_at) order by (check_key, table_uuid)') -%}
            {%- do run_query('insert into ' ~ state ~ ' (check_key, table_uuid, watermark) '
                             ~ rows | join(' union all ')) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{# Whether this run is a refresh of a warehouse built before: not a full refresh or --verify-all, and
   a passing key test recorded its watermark already (the state table exists). Tests whose inputs
   only change through tables key-tested on every run (e.g. the grain of a view joining keyed tables)
   check on full builds and with --verify-all instead of on every daily refresh. #}
{% macro refresh_run() -%}
    {%- if not execute or flags.FULL_REFRESH or var('verify_all', false) -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set state = verified_checks_relation() -%}
    {{- return(adapter.get_relation(database=state.database, schema=state.schema, identifier=state.identifier) is not none) -}}
{%- endmacro %}
