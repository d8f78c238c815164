{# Each row once per roll-up it belongs to: as (channel, os), (channel, '(all)'), ('(all)', os) and
   ('(all)', '(all)'), in the columns channel_key and os_key; grouping by them then yields every
   single-value filter combination at once (kpi_weekly). #}
{% macro array_join_channel_os_rollups() -%}
    array join
        [channel, '(all)', channel, '(all)'] as channel_key,
        [os, os, '(all)', '(all)'] as os_key
{%- endmacro %}
