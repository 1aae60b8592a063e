# tests/slurm/slurm.mk - `make check-slurm`: a fleet sweep on a real one-node Slurm cluster
# started on localhost (as root; tests/slurm/check-slurm.sh), with a task killed mid-row and
# requeued.  Needs slurm-wlm, munge and jq (scripts/install-deps.sh).  Bounded: 7 minutes at
# most, the daemons stopped whatever happens.
.PHONY: check-slurm
check-slurm: $(BUILD)/bitbench
	@timeout -k 20 420 tests/slurm/check-slurm.sh $(BUILD)/bitbench
