export async function main(argv: string[]): Promise<number> {
  console.log('qmt', argv.join(' '));
  return 0;
}
