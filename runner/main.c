/*
 * main.c: job-runner command line (job-runner(8)).  Global options, then a
 * command looked up in a table; each command parses its own arguments.
 * Exit codes: 0 done, 1 runtime error, 64 usage, 78 configuration.
 *
 * A command marked RUNNER_CONF_OPTIONAL (simulate) reads a configuration
 * file only when --config names one, so it runs on a machine that has
 * none; a named file that does not load is still exit 78.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "runner.h"
#include "util.h"

static const struct runner_command commands[] = {
	{ "run",	runner_cmd_run,		RUNNER_CONF_FILE },
	{ "dead",	runner_cmd_dead,	RUNNER_CONF_FILE },
	{ "exec",	runner_cmd_exec,	RUNNER_CONF_FILE },
	{ "prune",	runner_cmd_prune,	RUNNER_CONF_FILE },
	{ "simulate",	runner_cmd_simulate,	RUNNER_CONF_OPTIONAL },
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: job-runner [--config FILE] COMMAND [ARGS]\n"
	    "       job-runner --help | --version\n"
	    "\n"
	    "commands:\n"
	    "  run --once [--max-runtime SEC] [--metrics-file PATH]\n"
	    "                         process due jobs until none is due\n"
	    "  run --loop             keep polling; SIGTERM finishes the job in hand\n"
	    "  dead list              list dead letters\n"
	    "  dead show ID [--payload]\n"
	    "                         show one dead letter (ID is the job id),\n"
	    "                         or only its payload, as stored\n"
	    "  dead replay ID... | --all\n"
	    "                         put dead jobs back to pending\n"
	    "  exec TYPE FILE|- [--dry-run]\n"
	    "                         run one payload through its handler\n"
	    "  prune --older-than DAYS\n"
	    "                         delete done jobs older than DAYS\n"
	    "  simulate [--jobs N] [--fail-rate P] [--permanent-rate Q]\n"
	    "           [--seed S] [--json]\n"
	    "                         run the retry policy on synthetic jobs,\n"
	    "                         in memory (no database, no mail)\n"
	    "\n"
	    "  -c, --config FILE      configuration file (default %s)\n",
	    CONF_DEFAULT_PATH);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = NULL;
	char err[CONF_ERR_MAX];
	struct conf conf;
	size_t i;
	int ch;

	log_init("job-runner");
	/* "+": stop at the command, its options are its own */
	while ((ch = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("job-runner %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return RUNNER_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return RUNNER_EXIT_USAGE;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			break;
	if (i == ARRAY_SIZE(commands)) {
		fprintf(stderr, "job-runner: unknown command: %s\n",
		    argv[optind]);
		usage(stderr);
		return RUNNER_EXIT_USAGE;
	}
	if (path == NULL && commands[i].conf == RUNNER_CONF_OPTIONAL)
		conf_defaults(&conf);
	else if (conf_load(path != NULL ? path : CONF_DEFAULT_PATH, &conf,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "job-runner: %s\n", err);
		return CONF_EXIT;
	}
	log_set_level((enum log_level)log_level_parse(conf.log_level));
	/* the command sees argv starting at its own name */
	optind++;
	return commands[i].run(&conf, argc - optind + 1, argv + optind - 1);
}
