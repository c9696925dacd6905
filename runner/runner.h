/*
 * runner.h: the job-runner's commands.  Each takes the loaded
 * configuration and its own argv (argv[0] is the command name) and returns
 * the process exit code.
 */
#ifndef RUNNER_RUNNER_H
#define RUNNER_RUNNER_H

#include "conf.h"

#define RUNNER_EXIT_OK		0
#define RUNNER_EXIT_RUNTIME	1
#define RUNNER_EXIT_USAGE	64

struct runner_command {
	const char	*name;
	int		(*run)(const struct conf *, int, char **);
	int		 needs_db;
};

int runner_cmd_run(const struct conf *conf, int argc, char **argv);
int runner_cmd_dead(const struct conf *conf, int argc, char **argv);
int runner_cmd_exec(const struct conf *conf, int argc, char **argv);
int runner_cmd_prune(const struct conf *conf, int argc, char **argv);

#endif
