import { plainToInstance } from 'class-transformer';
import { IsOptional, IsString, validate } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { PageQueryDto } from './page-query.dto';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './pagination';

class FilteredQueryDto extends PageQueryDto {
  @IsOptional()
  @IsString()
  owner?: string;
}

// The same options as the global pipe (createValidationPipe); query values arrive as strings.
async function parse(query: Record<string, string>): Promise<{
  dto: FilteredQueryDto;
  problems: string[];
}> {
  const dto = plainToInstance(FilteredQueryDto, query);
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
  return { dto, problems: errors.map((e) => e.property) };
}

describe('PageQueryDto in a subclass', () => {
  it('inherits the default limit and the number conversion', async () => {
    expect(await parse({ owner: 'a' })).toEqual({
      dto: expect.objectContaining({ owner: 'a', limit: DEFAULT_PAGE_LIMIT }),
      problems: [],
    });
    const { dto, problems } = await parse({ limit: '7', continue: 'abc' });
    expect(problems).toEqual([]);
    expect(dto.limit).toBe(7);
    expect(dto.continue).toBe('abc');
  });

  it('inherits the limit and continue constraints', async () => {
    for (const limit of ['0', String(MAX_PAGE_LIMIT + 1), '2.5', 'ten']) {
      expect((await parse({ limit })).problems).toEqual(['limit']);
    }
    expect((await parse({ continue: 'x'.repeat(2049) })).problems).toEqual(['continue']);
    expect((await parse({ limit: String(MAX_PAGE_LIMIT) })).problems).toEqual([]);
  });

  it('still refuses unknown query parameters', async () => {
    expect((await parse({ page: '2' })).problems).toEqual(['page']);
  });
});
