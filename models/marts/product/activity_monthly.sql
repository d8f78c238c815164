{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='month',
          engine='MergeTree()', order_by='month') }}
-- Active users per month (distinct users with a session), sessions and mean session length.
{{ activity_by(ref('fct_sessions'), 'toStartOfMonth(start_ts)', 'month', 'mau') }}
