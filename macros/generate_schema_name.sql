{# Layers go to their own ClickHouse databases under their plain names (staging, intermediate,
   marts) instead of dbt's default "<target schema>_<custom schema>".
   With the vars `shadow_suffix` and `published_schemas` (set by `ecomlytics build` and the serving
   process's refreshes, ecomlytics/dbt/publish.py), models of a published database are built in its
   shadow (marts -> marts__next) and swapped in once the whole build has passed. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- set schema = (custom_schema_name or target.schema) | trim -%}
  {%- if var('shadow_suffix', '') and schema in var('published_schemas', []) -%}
    {{ schema ~ var('shadow_suffix') }}
  {%- else -%}
    {{ schema }}
  {%- endif -%}
{%- endmacro %}
