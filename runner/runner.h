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

/* How a command gets its configuration. */
enum runner_conf {
	RUNNER_CONF_FILE = 0,	/* --config FILE, or the default path */
	RUNNER_CONF_OPTIONAL	/* --config FILE, or the built-in defaults */
};

struct runner_command {
	const char	*name;
	int		(*run)(const struct conf *, int, char **);
	enum runner_conf conf;
};

int runner_cmd_run(const struct conf *conf, int argc, char **argv);
int runner_cmd_dead(const struct conf *conf, int argc, char **argv);
int runner_cmd_exec(const struct conf *conf, int argc, char **argv);
int runner_cmd_prune(const struct conf *conf, int argc, char **argv);
int runner_cmd_simulate(const struct conf *conf, int argc, char **argv);

#endif
