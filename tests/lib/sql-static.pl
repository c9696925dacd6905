#!/usr/bin/perl
# tests/lib/sql-static.pl FILE.c... -- the "no string-built SQL" rule of
# tests/it/55-security.sh, checked on the C sources.
#
#  1. Every function with a `const char *sql` parameter (db_exec, db_query,
#     db_prepare, jobs_fenced, ... found, not listed) gets, at every call,
#     a string literal, a `static const char sql_x[]` (or `*const sql_x[]`)
#     of the same file, a choice between those (?:, [index]), or the `sql`
#     parameter of its own caller, which is then held to the same rule.
#     So mysql_stmt_prepare()/mysql_real_query() in common/db.c only ever
#     see texts fixed at compile time, which is also what the statement
#     cache keyed by the text's address relies on.
#  2. Only common/db.c calls the mysql_* query functions.
#  3. No printf-style format holds an SQL keyword.
# Prints one line per violation; exits 1 if there is any.
use strict; use warnings;
my (%src, %takes, $bad);
for my $f (@ARGV) { local $/; open my $h, '<', $f or die "$f: $!"; $src{$f} = <$h>;
	$src{$f} =~ s{/\*.*?\*/}{ }gs; }
# functions with a `const char *sql` parameter, and its position
for my $f (keys %src) {
	while ($src{$f} =~ /^(\w+)\(([^)]*)\)\s*\{/mg) {
		my ($name, @p) = ($1, split /,/, $2);
		for my $i (0..$#p) { $takes{$name} = $i if $p[$i] =~ /\bconst\s+char\s*\*\s*sql\s*$/ }
	}
}
sub args { # top-level arguments of the call whose '(' is at $pos
	my ($s, $pos) = @_; my ($d, $cur, @a) = (0, '');
	for (my $i = $pos + 1; $i < length $s; $i++) {
		my $c = substr($s, $i, 1);
		if ($c eq '"' || $c eq "'") { my $j = $i + 1;
			$j++ while substr($s, $j, 1) ne $c && (substr($s, $j, 1) ne '\\' || $j++);
			$cur .= substr($s, $i, $j - $i + 1); $i = $j; next }
		if ($c =~ /[(\[]/) { $d++ } elsif ($c =~ /[)\]]/) { if ($d == 0 && $c eq ')') { push @a, $cur; return @a } $d-- }
		if ($c eq ',' && $d == 0) { push @a, $cur; $cur = ''; next }
		$cur .= $c;
	}
	return @a;
}
for my $f (sort keys %src) {
	my $s = $src{$f};
	for my $fn (sort keys %takes) {
		while ($s =~ /\b\Q$fn\E\s*\(/g) {
			my $pos = pos($s) - 1;
			my $line = 1 + (substr($s, 0, $pos) =~ tr/\n//);
			my @a = args($s, $pos);
			my $e = $a[$takes{$fn}] // ''; $e =~ s/\s+/ /g; $e =~ s/^ | $//g;
			next if $e =~ /^const char \*\s*(sql)?$/;	# definitions, prototypes
			(my $rest = $e) =~ s/"(?:[^"\\]|\\.)*"//g;	# literals are fine
			my @ids = $rest =~ /\b(sql\w*|db_\w+_sql)\b/g;
			my $ok = $e =~ /"/ || @ids;
			for my $id (@ids) {
				if ($id eq 'sql') { $ok = 0 unless $s =~ /const\s+char\s*\*\s*sql\s*[,)]/; next }
				$ok = 0 unless $s =~ /static\s+const\s+char\s+(?:\*\s*const\s+)?\Q$id\E\s*\[/;
			}
			# anything else that could hold text built at run time
			$ok = 0 if $rest =~ /\b(buf|tmp|query|text|str|snprintf|\w+\.data)\b/;
			next if $ok;
			print "$f:$line: $fn() gets SQL that is not a literal or a static const: $e\n"; $bad = 1;
		}
	}
	# in common/db.c: what the client library itself is given
	if ($f =~ m{common/db\.c$}) {
		while ($s =~ /\b(mysql_real_query|mysql_stmt_prepare)\s*\(/g) {
			my $pos = pos($s) - 1; my $fn = $1;
			my $e = (args($s, $pos))[1] // ''; $e =~ s/^\s+|\s+$//g;
			next if $e eq 'sql' ||
			    $s =~ /static\s+const\s+char\s+\Q$e\E\s*\[/;
			my $line = 1 + (substr($s, 0, $pos) =~ tr/\n//);
			print "$f:$line: $fn() gets $e\n"; $bad = 1;
		}
	}
	# mysql query functions only in common/db.c
	if ($f !~ m{common/db\.c$} && $s =~ /\b(mysql_(?:real_query|query|send_query|stmt_prepare|real_escape_string\w*))\s*\(/) {
		print "$f: calls $1 (only common/db.c may)\n"; $bad = 1;
	}
	# no SQL keywords in printf-style formats
	while ($s =~ /\b((?:v?sn?printf|buf_printf|fprintf|dprintf))\s*\(/g) {
		my $pos = pos($s) - 1; my $fn = $1;
		my @a = args($s, $pos);
		for my $a (@a) {
			next unless $a =~ /"/;
			if ($a =~ /\b(SELECT|INSERT|UPDATE|DELETE|WHERE|VALUES|REPLACE INTO|DROP|ALTER|UNION)\b/) {
				my $line = 1 + (substr($s, 0, $pos) =~ tr/\n//);
				print "$f:$line: $fn format with SQL keyword $1\n"; $bad = 1;
			}
		}
	}
}
printf "checked %d SQL-taking functions: %s\n", scalar(keys %takes), join(' ', sort keys %takes);
exit($bad ? 1 : 0);
