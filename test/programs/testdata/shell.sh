# Pipelines, subshells, background jobs, wait, traps and job-control
# signals in one busybox shell script.
trap 'echo got USR1' USR1
echo start
( sleep 0.1; exit 3 ) &
sub=$!
kill -USR1 $$
sleep 5 &
p=$!
kill -STOP $p
kill -CONT $p
kill $p
# Whether ash prints "Terminated" depends on whether it reaped the job
# before wait ran, which natively too is a race: the foreground sleep
# reaps it first, always.
sleep 0.2
wait $p; echo "status $?"
echo a b c | tr ' ' '\n' | sort -r | head -2
x=$(echo nested $(echo command substitution))
echo "$x"
wait $sub; echo "sub status $?"
wait
echo end
