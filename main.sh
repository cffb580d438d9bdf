source /tmp/dpexp/lib.sh >/dev/null
V=(base dpexp-t1 dpexp-b dpexp-c dpexp-e)
for rep in 1 2 3 4 5; do
  for row in sr sw rr rw; do
    for k in 0 1 2 3 4; do
      v=${V[$(( (k+rep) % 5 ))]}
      if [ $v = base ]; then x=$(runbase $row); else x=$(runrow $v $row); fi
      echo "$rep $row $v $x" | tee -a /tmp/dpexp/results.txt
    done
  done
done
