{# Every row of `cohorts` (one per cohort_month x attributes) times ages 0..N, N = months from its
   cohort month to `last_month`: a gap-free grid, so cumulative and additive cohort metrics hold. #}
{% macro cohort_age_grid(cohorts, age_name, last_month) -%}
    select *, arrayJoin(range(toUInt32(dateDiff('month', cohort_month, {{ last_month }}) + 1))) as {{ age_name }}
    from {{ cohorts }}
{%- endmacro %}
