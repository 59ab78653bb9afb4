-- Whether an action may use the network. `network: false` in its metadata runs it in a network namespace of its own
-- (worker.isolation sandbox); a worker that cannot isolate the network refuses to run it (docs/packs.md).
ALTER TABLE "attune"."action" ADD COLUMN "network" BOOLEAN NOT NULL DEFAULT true;
