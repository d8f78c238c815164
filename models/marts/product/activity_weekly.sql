{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='week',
          engine='MergeTree()', order_by='week') }}
-- Active users per week (distinct users with a session), sessions and mean session length.
{{ activity_by(ref('fct_sessions'), 'toStartOfWeek(start_ts, 1)', 'week', 'wau') }}
