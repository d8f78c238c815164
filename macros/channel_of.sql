{# channel and channel_group for a source id joined to seeds/channels.csv as `alias`:
   unmapped ids show as "source <id>", buyers without a visit (source 0) as "unknown". #}
{% macro channel_of(source_id, alias) -%}
    toLowCardinality(multiIf({{ source_id }} = 0, 'unknown', {{ alias }}.channel != '', {{ alias }}.channel,
        concat('source ', toString({{ source_id }})))) as channel,
    toLowCardinality(multiIf({{ source_id }} = 0, 'unknown', {{ alias }}.channel_group != '', {{ alias }}.channel_group,
        'other')) as channel_group
{%- endmacro %}
