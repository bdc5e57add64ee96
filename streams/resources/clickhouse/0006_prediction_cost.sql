-- Migration 0006: what each prediction cost the serving process, its share of its batch's
-- forward pass (inference/cost_meter.py): CPU seconds, GPU seconds on a GPU, joules where
-- the hardware reports energy. NULL for rows stored before, for outside servers, and for
-- a figure the serving host cannot read. Cost per 1,000 predictions of a window is
-- 1000 * sum(cost_cpu_s) / count(cost_cpu_s). IF NOT EXISTS: a migration interrupted
-- before it was recorded is safely applied again.
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS cost_cpu_s Nullable(Float64) AFTER ttft_s;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS cost_gpu_s Nullable(Float64) AFTER cost_cpu_s;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS cost_energy_j Nullable(Float64) AFTER cost_gpu_s;
