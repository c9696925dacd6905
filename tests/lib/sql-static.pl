#!/usr/bin/perl
# tests/lib/sql-static.pl FILE.c... -- the "no string-built SQL" rule of
# tests/it/55-security.sh, checked on the C sources.
#
# Statements are named by an id (db.h); their texts live in statement
# tables that C requires to be constant (file-scope initializers), so text
# built at run time cannot get in there.  What is left to check is that
# nothing goes around the tables:
#  1. The tables: every `struct db_statements` is a file-scope const whose
#     text array is a `static const char *const NAME[]` of the same file;
#     the core's table is `const char *const core_sql[]`.
#  2. In common/db.c, mysql_stmt_prepare() gets only what db_sql_text()
#     returned (the tables), and mysql_real_query() only literals, static
#     consts, or the `sql` parameter of a function every caller of which
#     passes a literal.
#  3. No function anywhere else takes a `const char *sql` parameter.
#  4. Only common/db.c calls the mysql_* query functions.
#  5. No printf-style format holds an SQL keyword.
# Prints one line per violation and a summary; exits 1 if there is any.
use strict; use warnings;
my (%src, $bad, $tables, $prepares);
for my $f (@ARGV) { local $/; open my $h, '<', $f or die "$f: $!"; $src{$f} = <$h>;
	$src{$f} =~ s{/\*.*?\*/}{ }gs; }
sub line { my ($s, $pos) = @_; 1 + (substr($s, 0, $pos) =~ tr/\n//) }
sub bad { print "$_[0]\n"; $bad = 1 }
sub args { # top-level arguments of the call whose '(' is at $pos
	my ($s, $pos) = @_; my ($d, $cur, @a) = (0, '');
	for (my $i = $pos + 1; $i < length $s; $i++) {
		my $c = substr($s, $i, 1);
		if ($c eq '"' || $c eq "'") { my $j = $i + 1;
			$j++ while substr($s, $j, 1) ne $c && (substr($s, $j, 1) ne '\\' || $j++);
			$cur .= substr($s, $i, $j - $i + 1); $i = $j; next }
		if ($c =~ /[(\[{]/) { $d++ } elsif ($c =~ /[)\]}]/) { if ($d == 0 && $c eq ')') { push @a, $cur; return @a } $d-- }
		if ($c eq ',' && $d == 0) { push @a, $cur; $cur = ''; next }
		$cur .= $c;
	}
	return @a;
}
for my $f (sort keys %src) {
	my $s = $src{$f};
	my $isdb = $f =~ m{common/db\.c$};
	# 1. statement tables
	while ($s =~ /^(\w[^\n;]*)\bstruct\s+db_statements\s+(\w+)\s*=\s*\{\s*(\w+)/mg) {
		my ($decl, $name, $arr) = ($1, $2, $3);
		my $l = line($s, pos($s));
		bad("$f:$l: $name is not a file-scope const") unless $decl =~ /^const\s*$/;
		bad("$f:$l: the texts of $name ($arr) are not a static const char *const array of this file")
		    unless $s =~ /static\s+const\s+char\s*\*\s*const\s+\Q$arr\E\s*\[/;
		$tables++;
	}
	$tables++ if $s =~ /^const\s+char\s*\*\s*const\s+core_sql\s*\[/m;
	# 3. SQL-text parameters
	my @takers;
	while ($s =~ /^(\w+)\(([^)]*)\)\s*\{/mg) {
		my ($name, $params) = ($1, $2);
		push @takers, $name if $params =~ /\bconst\s+char\s*\*\s*sql\b/;
	}
	for my $name (@takers) {
		if (!$isdb || $name ne 'db_simple') {
			bad("$f: $name() takes SQL text (only db.c's db_simple may)");
			next;
		}
		while ($s =~ /\b\Q$name\E\s*\(/g) {
			my $pos = pos($s) - 1;
			my $e = (args($s, $pos))[1] // ''; $e =~ s/^\s+|\s+$//g;
			next if $e =~ /^const char \*\s*sql$/ || $e =~ /^"(?:[^"\\]|\\.)*"$/;
			bad("$f:" . line($s, $pos) . ": $name() gets $e, not a literal");
		}
	}
	# 2. what the client library is given
	if ($isdb) {
		while ($s =~ /\bmysql_stmt_prepare\s*\(/g) {
			my $pos = pos($s) - 1;
			my $e = (args($s, $pos))[1] // ''; $e =~ s/^\s+|\s+$//g;
			$prepares++;
			next if $s =~ /\b\Q$e\E\s*=\s*db_sql_text\s*\(/;
			bad("$f:" . line($s, $pos) . ": mysql_stmt_prepare() gets $e, not db_sql_text()");
		}
		while ($s =~ /\bmysql_real_query\s*\(/g) {
			my $pos = pos($s) - 1;
			my $e = (args($s, $pos))[1] // ''; $e =~ s/^\s+|\s+$//g;
			next if $e eq 'sql' || $e =~ /^"/ ||
			    $s =~ /static\s+const\s+char\s+\Q$e\E\s*\[/;
			bad("$f:" . line($s, $pos) . ": mysql_real_query() gets $e");
		}
	}
	# 4. mysql query functions only in common/db.c
	if (!$isdb && $s =~ /\b(mysql_(?:real_query|query|send_query|stmt_prepare|real_escape_string\w*))\s*\(/) {
		bad("$f: calls $1 (only common/db.c may)");
	}
	# 5. no SQL keywords in printf-style formats
	while ($s =~ /\b((?:v?sn?printf|buf_printf|fprintf|dprintf))\s*\(/g) {
		my $pos = pos($s) - 1; my $fn = $1;
		for my $a (args($s, $pos)) {
			next unless $a =~ /"/;
			if ($a =~ /\b(SELECT|INSERT|UPDATE|DELETE|WHERE|VALUES|REPLACE INTO|DROP|ALTER|UNION)\b/) {
				bad("$f:" . line($s, $pos) . ": $fn format with SQL keyword $1");
			}
		}
	}
}
printf "checked %d statement tables, %d prepare call(s)\n", $tables // 0, $prepares // 0;
bad("no statement tables found") unless ($tables // 0) >= 3;
bad("no mysql_stmt_prepare() found in common/db.c") unless $prepares;
exit($bad ? 1 : 0);
