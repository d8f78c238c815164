{# Layers go to their own ClickHouse databases under their plain names (staging, intermediate,
   marts) instead of dbt's default "<target schema>_<custom schema>". #}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
