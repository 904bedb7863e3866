// SIGTERM / SIGINT (SLURM preemption, Ctrl-C) ask the trainer to stop after the current step,
// write a checkpoint and exit 0; so does SIGUSR1, the signal Open MPI's mpirun forwards to every
// rank (it answers SIGTERM by killing them). The handler only sets a flag; the loop polls it.
#pragma once

namespace merino {

void install_stop_handlers();
bool stop_requested();
int stop_signal_number();  // the signal that asked, 0 if none

}  // namespace merino
