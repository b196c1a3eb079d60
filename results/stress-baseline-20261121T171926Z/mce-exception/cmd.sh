sh /out/guest.sh
